"""Trading Pro: rooms api/ ws/ web/ schemas/ market/; neutral ground any room may import; main.py wires them."""
