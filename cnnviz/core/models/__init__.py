"""The networks: LeNet-5 (1998), the modern LeNet, the zoo, the user's own; and the registry.

Importing this package imports the model modules, which register themselves
(torchvision's pattern): the registry never imports the models it lists.
"""

from cnnviz.core.models import lenet, zoo  # noqa: F401  (they register their specs)
