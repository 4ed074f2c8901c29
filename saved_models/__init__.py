"""SavedModel exports: the backbone (fine-tunable elsewhere), fine-tuned classifiers for TF Serving (raw text
in), and GPT text generation."""
