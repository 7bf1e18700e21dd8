// The recipe "Train on my labels" applies on top of the current one: DPO sized for a few dozen
// pairs of short answers. Measured on the demo model with the CLI
// (scripts/classroom/measureLabelTraining.ts; numbers in README.md): 16 consistent labels and
// these settings took answers naming an animal from 26% to 73% (28% -> 61% on held-out prompts)
// in 23 s on a CPU adapter; 5e-3 moved them a little further but broke the answers' fluency.
// Keys are TRL names (the recipe file's keys); the step count is the one knob the page shows.

export const LABEL_TRAINING_STEPS = 20;

/** The recipe fields set for label training (the rest of the recipe stays as it is). */
export const LABEL_TRAINING_RECIPE = {
  learning_rate: 2e-3,
  per_device_train_batch_size: 4,
  gradient_accumulation_steps: 1,
  beta: 0.1,
  max_length: 64,
  lora_dropout: 0,
  save_steps: 5,
  logging_steps: 1,
} as const;
