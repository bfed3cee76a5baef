"""What the app's first second needs, without torch (``import torch`` alone takes 1.1-1.5 s).

    lenet5_paper.py   the paper's fixed parts of LeNet-5: the C3 table, the RBF centres, the input range
    lenet5_numpy.py   LeNet-5's forward in numpy, from its shipped weights: the first strokes' answers
    model_argument.py whether ``cnnviz --model X`` names the user's file (launch asks it before the window)

Nothing here imports torch; ``tests/core/test_before_torch.py`` holds both to that and to torch's answers.
"""
