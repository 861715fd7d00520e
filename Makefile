# Aliases for ./dev, for those who type make.
.PHONY: up down test check
up:
	./dev up
down:
	./dev down
test:
	./dev test
check:
	./dev check
