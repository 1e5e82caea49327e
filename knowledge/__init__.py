"""The knowledge base: documents, product catalog, taxonomy, their validator and the search index."""

from .catalog import Catalog, CreditAction, Product, load_catalog
from .documents import KnowledgeDoc, chinese_chars, load_documents
from .taxonomy import Taxonomy, load_taxonomy
from .validate import validate_knowledge

__all__ = [
    "Catalog",
    "CreditAction",
    "KnowledgeDoc",
    "Product",
    "Taxonomy",
    "chinese_chars",
    "load_catalog",
    "load_documents",
    "load_taxonomy",
    "validate_knowledge",
]
