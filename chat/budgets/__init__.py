"""Token budgets per user: limits (`limits`), periods (`periods`), the ledger that reserves
and settles tokens (`ledger`), and what the user is shown (`meter`)."""
