"""Where the stack runs: the compose backend, labels to targets, images, health."""
