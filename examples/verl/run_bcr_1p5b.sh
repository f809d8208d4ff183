#!/usr/bin/env bash
# BCR (Batched Contextual Reinforcement, arXiv 2604.02322), the paper's 1.5B
# setup on verl: GRPO on packs of N = 3 DeepMath-103K problems stratified by
# difficulty, one hard budget of 5,120 response tokens for the whole pack,
# reward = per-problem accuracy + format (bcr.verl.compute_score), no length
# term, no KL. One node of 8 GPUs (80 GB).
#
#   pip install verl==0.9.1 "vllm" dist/bcr-*.whl   # on every node; see docs/scale-out.md
#   bcr data build --format verl --input deepmath-103k.parquet --input-format deepmath \
#       --n 3 --strategy stratified --seed 0 --output $HOME/data/bcr/train.parquet \
#       --val-benchmarks aime25,amc23,minerva,math500,olympiadbench --val-n 1 \
#       --val-output $HOME/data/bcr/val.parquet
#   MODEL_PATH=/path/to/JustRL-DeepSeek-1.5B bash examples/verl/run_bcr_1p5b.sh [hydra overrides...]
#
# Every key below was resolved by verl 0.9.1's own Hydra config and config
# dataclasses (bench/scale_out/verl_check.sh), which also loaded the data
# through verl's RLHFDataset and scored responses through verl's reward loop;
# the run itself needs GPUs and was not made. Values marked "ours" are not
# given by the paper (docs/scale-out.md has the table).
# No KL term, so verl builds no reference model; the log-prob passes inherit
# the actor's dynamic batching (use_dynamic_bsz, ppo_max_token_len_per_gpu).
set -xeuo pipefail

MODEL_PATH=${MODEL_PATH:?set MODEL_PATH to the JustRL-DeepSeek-1.5B checkpoint (local directory or Hub id)}
TRAIN_FILES=${TRAIN_FILES:-$HOME/data/bcr/train.parquet}
VAL_FILES=${VAL_FILES:-$HOME/data/bcr/val.parquet}
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}

python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    algorithm.use_kl_in_reward=False \
    data.train_files="$TRAIN_FILES" \
    data.val_files="$VAL_FILES" \
    data.train_batch_size=128 \
    data.max_prompt_length=2048 \
    data.max_response_length=5120 \
    data.filter_overlong_prompts=True \
    data.truncation=error \
    reward.custom_reward_function.path=pkg://bcr.verl \
    reward.custom_reward_function.name=compute_score \
    +reward.custom_reward_function.reward_kwargs.format_weight=0.1 \
    actor_rollout_ref.model.path="$MODEL_PATH" \
    actor_rollout_ref.model.use_remove_padding=True \
    actor_rollout_ref.model.enable_gradient_checkpointing=True \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.ppo_mini_batch_size=32 \
    actor_rollout_ref.actor.use_dynamic_bsz=True \
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu=24576 \
    actor_rollout_ref.actor.use_kl_loss=False \
    actor_rollout_ref.actor.entropy_coeff=0 \
    actor_rollout_ref.actor.loss_agg_mode=token-mean \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=8 \
    actor_rollout_ref.rollout.temperature=1.0 \
    actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=16 \
    trainer.critic_warmup=0 \
    trainer.logger='["console"]' \
    trainer.project_name=bcr \
    trainer.experiment_name=bcr-1p5b-n3-b5120 \
    trainer.nnodes="$NNODES" \
    trainer.n_gpus_per_node="$GPUS_PER_NODE" \
    trainer.val_before_train=True \
    trainer.test_freq=10 \
    trainer.save_freq=20 \
    trainer.total_epochs=1 "$@"
