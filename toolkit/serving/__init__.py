"""Beyond one machine, on engines others operate: Triton model repositories (`toolkit triton-repo`), a
Triton server around our runner (`toolkit serve`, PyTriton) and folder jobs on Ray (`infer --ray`)."""
