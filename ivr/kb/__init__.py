"""知识库 (the knowledge base): articles agents answer consultations with.

Pure: `articles` checks what the office types and says whether an article is in force,
`terms` cuts text into search terms with jieba, `ranking` ranks the articles in force for a
question (BM25). The database and the per-process index cache are in `ivr.db.kb`.
"""
