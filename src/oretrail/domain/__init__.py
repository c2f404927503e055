"""Pure domain: the vocabulary of the supply chain and the rules of a trace."""
