"""Paper Surfer: watches PubMed and brings new papers to the chats that asked for them."""

__version__ = "0.1.0"
