"""E-invoices: Factur-X / ZUGFeRD PDFs, UBL 2.1 and CII XML read into records (`modeles`),
and the reform's lifecycle statuses exported by the user's platform."""
