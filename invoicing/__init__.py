"""Invoices, credit notes, numbering series, PDF and e-invoices."""
