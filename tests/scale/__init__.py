"""Several server processes on one Redis broker, as real processes on real sockets (the scale-out issue)."""
