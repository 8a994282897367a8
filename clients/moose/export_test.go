package moose

// IsLocal exposes the plaintext-by-default decision to the black-box tests.
var IsLocal = isLocal
