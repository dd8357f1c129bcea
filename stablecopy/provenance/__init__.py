"""What a researcher checks and cites: verification of WARC files against the catalogue, citations and their ids, clean text read back."""
