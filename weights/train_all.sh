#!/bin/sh
# Retrain every shipped weights file (see weights/RECIPES.md). CPU: about 1.5-2 hours.
set -e
cd "$(dirname "$0")/.."
: "${CNNVIZ_DATA_DIR:?set CNNVIZ_DATA_DIR to the folder holding MNIST/ and FashionMNIST/}"
export CNNVIZ_DATA_DIR
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CNNVIZ="${CNNVIZ:-cnnviz}"

"$CNNVIZ" train --model lenet5 --dataset mnist --epochs 30 --batch-size 128 --lr 0.005 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/lenet5-mnist.safetensors
"$CNNVIZ" train --model lenet --dataset mnist --epochs 15 --batch-size 128 --lr 0.003 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/lenet-mnist.safetensors
"$CNNVIZ" train --model vgg --dataset mnist --epochs 6 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/vgg-mnist.safetensors
"$CNNVIZ" train --model googlenet --dataset mnist --epochs 6 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/googlenet-mnist.safetensors
"$CNNVIZ" train --model alexnet --dataset mnist --epochs 5 --batch-size 128 --lr 0.001 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/alexnet-mnist.safetensors
"$CNNVIZ" train --model resnet --dataset mnist --epochs 4 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --augment --label-smoothing 0 --seed 0 --out weights/resnet-mnist.safetensors
"$CNNVIZ" train --model lenet5 --dataset fashion-mnist --epochs 20 --batch-size 128 --lr 0.004 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0 --seed 0 --out weights/lenet5-fashion-mnist.safetensors
"$CNNVIZ" train --model lenet --dataset fashion-mnist --epochs 15 --batch-size 128 --lr 0.003 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0 --seed 0 --out weights/lenet-fashion-mnist.safetensors
"$CNNVIZ" train --model vgg --dataset fashion-mnist --epochs 6 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0.1 --seed 0 --out weights/vgg-fashion-mnist.safetensors
"$CNNVIZ" train --model alexnet --dataset fashion-mnist --epochs 5 --batch-size 128 --lr 0.001 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0.1 --seed 0 --out weights/alexnet-fashion-mnist.safetensors
"$CNNVIZ" train --model resnet --dataset fashion-mnist --epochs 4 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0.1 --seed 0 --out weights/resnet-fashion-mnist.safetensors
"$CNNVIZ" train --model googlenet --dataset fashion-mnist --epochs 3 --batch-size 128 --lr 0.002 --optimizer adam --weight-decay 0 --schedule onecycle --label-smoothing 0.1 --seed 0 --out weights/googlenet-fashion-mnist.safetensors
