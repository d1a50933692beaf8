"""What a variant costs and how many can be sold, per market.

Price lists, exchange rates, tax, stock pools.
"""
