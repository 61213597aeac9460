#!/bin/bash
# Scores a large folder on a Slurm cluster: one array task per shard, each `stpm score --shard I/N`
# on the shared filesystem, then deploy/merge-scores joins the CSVs (submitted by deploy/slurm-run).
# Every task reads the same model folder; the teacher weights named in its config.json must be at the
# same path on every node (train with STPM_HOME on the shared filesystem).
#
#   sbatch --array=0-15 deploy/slurm-score.sh MODEL IMAGES OUT
#
#SBATCH --job-name=stpm-score
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=stpm-score-%A_%a.out
set -euo pipefail
model=$1 images=$2 out=$3
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# Exit status 1 means some images could not be read: they are rows with an error in the CSV, not a failed shard.
"${STPM:-stpm}" score "$model" "$images" --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --csv "$out/scores-$SLURM_ARRAY_TASK_ID.csv" --maps "$out/maps" || [ $? -eq 1 ]
