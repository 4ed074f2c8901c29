"""SavedModel exports: the backbone (fine-tunable elsewhere), fine-tuned classifiers for TF Serving (raw text
in), and GPT text generation; a run that trains on JAX makes its exports in a TensorFlow process
(`tensorflow_process`)."""
