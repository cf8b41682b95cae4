"""Multi-model writes and writes with side effects, one module per area.

Views call these; they never write several models themselves. Each service is
keyword-only, typed, and runs in a transaction.
"""
