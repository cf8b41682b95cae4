"""Forms, one module per area. Each form validates its own input and writes nothing but its model."""
