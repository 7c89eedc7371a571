#!/usr/bin/env bash
# Retrains every Groundview model from scratch and exports them to models/.
# usage: trainer/train_all.sh [--data ../shared/data] [--runs trainer/runs] [--dry-run]
# Environment: TRAINER_THREADS (CPU threads per step, default 1); on a CUDA machine every
# step uses the GPU unchanged (--device auto).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
DATA=../shared/data RUNS=trainer/runs EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dry-run) EXTRA+=(--dry-run); shift ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
OUT=models
[ ${#EXTRA[@]} -gt 0 ] && OUT="$RUNS/models"
common=(--data "$DATA" --runs "$RUNS" "${EXTRA[@]}")
# The two classifiers are independent: train them side by side.
$PY trainer/train_terrain.py "${common[@]}" --epochs 150 --input-size 96 --cache-size 128 --serve-sizes 96,104,112,120,128 &
terrain=$!
$PY trainer/train_scene.py "${common[@]}" --epochs 24 --clean-after 3
wait $terrain
# Out-of-source test: a second scene classifier trained without Intel's photos, scored on them.
$PY trainer/train_scene.py "${common[@]}" --epochs 8 --clean-after 3 --exclude-source intel6 --name scene-oos &
oos=$!
$PY trainer/train_generator.py "${common[@]}" --sweep 4,8,16,32 --sweep-minutes 3 --minutes 25
wait $oos
$PY trainer/train_encoder.py "${common[@]}" --epochs 30
$PY trainer/fit_validation.py "${common[@]}"
$PY trainer/export.py "${common[@]}" --out "$OUT"
# The landscape GAN replaces the generator exported above (train_gan.py resumes: run this line
# again, or the command in trainer/README.md, to train it longer; GAN_MINUTES per call).
$PY trainer/prepare_gan_data.py "${common[@]}" --models "$OUT"
$PY trainer/train_judge.py "${common[@]}"
$PY trainer/train_gan.py "${common[@]}" --resume --minutes "${GAN_MINUTES:-120}"
$PY trainer/export_generator.py "${common[@]}" --models "$OUT"
