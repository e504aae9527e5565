#!/usr/bin/env bash
# Reproduce the fine-tuning lesson: pretrain on Fashion-MNIST classes 0-4, then learn classes 5-9 from 1000
# images three ways (frozen pretrained convolutions, pretrained convolutions trained further, from scratch)
# for the same epochs, and overlay their validation accuracy in runs/finetune-plots/val_acc.png.
#   bash configs/finetune/run_all.sh
set -euo pipefail
here=$(dirname "$0")
out=${OUT:-runs}
mkdir -p "$out/finetune-plots"
pretrained=$(cd "$out" && pwd)/finetune-pretrain
nnctl train "$here/pretrain.yaml" --out "$out" --quiet
nnctl train "$here/frozen.yaml" --out "$out" --quiet --set "init.from=$pretrained"
nnctl train "$here/all.yaml" --out "$out" --quiet --set "init.from=$pretrained"
nnctl train "$here/scratch.yaml" --out "$out" --quiet
nnctl plot "$out/finetune-frozen" "$out/finetune-all" "$out/finetune-scratch" --metric val_acc \
  --out "$out/finetune-plots/val_acc.png"
