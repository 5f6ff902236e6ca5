"""ContactPoint Hub: feeds in, one child identity each, a directory out."""
