"""The GraphQL contract of DESIGN.md: types, inputs, scalars and thin resolvers."""
