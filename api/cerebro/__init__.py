"""The CEREBRO face (seed 001): memory, chat, ledger, history, ping."""
