"""Precision as graphs: calibration images, the FP16 graph, the INT8 Q/DQ graph, sensitivity."""
