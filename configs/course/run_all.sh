#!/usr/bin/env bash
# Reproduce the course experiments: train every config here, then draw each comparison as one PNG in
# runs/course-plots/. Each run takes seconds to a few minutes on a laptop.
#   bash configs/course/run_all.sh
set -euo pipefail
here=$(dirname "$0")
out=${OUT:-runs}
plots="$out/course-plots"
mkdir -p "$plots"
for config in bn_off bn_on dropout_off dropout_on init_small init_good init_large init_lr_high modern_mlp softmax svm \
    sgd_steps momentum_steps pca_vs_autoencoder; do
  nnctl train "$here/$config.yaml" --out "$out" --quiet
done
nnctl train "$here/overfit_3layer.yaml" --overfit 50 --out "$out" --quiet
# the lesson: 5 layers at this init do NOT memorize 50 samples, and --overfit exits 1 to say so; go on then
nnctl train "$here/overfit_5layer.yaml" --overfit 50 --out "$out" --quiet || [ $? -eq 1 ]

nnctl plot "$out/course-bn_off" "$out/course-bn_on" --metric train_loss --out "$plots/batchnorm_train_loss.png"
nnctl plot "$out/course-bn_off" "$out/course-bn_on" --metric val_acc --out "$plots/batchnorm_val_acc.png"
nnctl plot "$out/course-dropout_off" "$out/course-dropout_on" --metric train_acc --out "$plots/dropout_train_acc.png"
nnctl plot "$out/course-dropout_off" "$out/course-dropout_on" --metric val_acc --out "$plots/dropout_val_acc.png"
nnctl plot "$out/course-init_small" "$out/course-init_good" "$out/course-init_large" --metric train_loss --log-y \
  --out "$plots/init_scale_train_loss.png"
for config in init_small init_good init_large init_lr_high; do     # the findings: vanishing, none, saturated, lr
  nnctl health "$out/course-$config"
done
nnctl plot "$out/course-overfit_3layer-overfit50" "$out/course-overfit_5layer-overfit50" --metric train_acc \
  --out "$plots/overfit_50_samples.png"
nnctl plot "$out/course-bn_on" "$out/course-modern_mlp" --metric val_acc --out "$plots/modern_mlp_val_acc.png"
nnctl plot "$out/course-softmax" "$out/course-svm" --metric val_acc --out "$plots/softmax_vs_svm_val_acc.png"
nnctl plot "$out/course-sgd_steps" "$out/course-momentum_steps" --per-step --out "$plots/sgd_vs_momentum_per_step.png"
nnctl plot "$out/course-pca_vs_autoencoder" --codes code --out "$plots/codes_vs_pca.png"
nnctl plot "$out/course-pca_vs_autoencoder" --reconstructions 10 --corrupt mask=0.3 \
  --out "$plots/autoencoder_reconstructions.png"
