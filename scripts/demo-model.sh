#!/bin/sh
# Trains the bundled demo model (resources/demo/model) the way it was made: the SimLens CLI on a
# throw-away workspace holding the whole of Fashion-MNIST (apt package dataset-fashion-mnist).
# The official t10k images, where every image of the demo's test split comes from, become the
# test split and are never seen in training or validation. Deterministic for the seed (the
# data-parallel batches are the same; float sums may differ in the last bits between machines).
# About 30 minutes on 2 cores.   Usage: npm run demo-model   (after npm run build)
set -eu
cd "$(dirname "$0")/.."
[ -f out/main/cli.js ] || { echo "run npm run build first" >&2; exit 1; }
WS=$(mktemp -d)
trap 'rm -rf "$WS"' EXIT
cli() { node out/main/cli.js "$@" --db "$WS/simlens.db"; }
cli import /usr/share/datasets/fashion-mnist --kind idx --name fmnist >/dev/null
cli pairs --dataset 1 --seed 0 >/dev/null
cli train --name "Fashion-MNIST demo model" --epochs 3 --batch 128 --lr 1e-3 --seed 0 --head flatten --conv-bias no --json >"$WS/train.json"
rm -rf resources/demo/model
cp -r "$WS/models/1" resources/demo/model
node -e "const t=require('$WS/train.json').metrics.splits.test; console.log('test ROC AUC', t.auc.toFixed(4), 'accuracy', t.accuracy.toFixed(4))"
