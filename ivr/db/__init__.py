"""Storage: SQLAlchemy models, engines, Alembic migrations and the repository functions.

engine     make_engine / make_sessionmaker (SQLite tuned for several writers, PostgreSQL)
migrate    upgrade_database, run by every ivr process at start
calls      call records written by the AGI flow and AMI events, in any order
cases      case drafts, registration (受理) and a caller's history
numbering  case numbers 12345-YYYYMMDD-NNNNNN, unique across processes
models     the tables and the workflow enums
"""
