"""Code tasks: write a Python function; hidden tests run in a sandbox certify it."""

from llm_modulo.domains.code.domain import CodeDomain, code_tasks
from llm_modulo.domains.code.extract import extract_code
from llm_modulo.domains.code.tasks import TASKS_FILE, CodeTask, load_tasks

__all__ = ["CodeDomain", "CodeTask", "TASKS_FILE", "code_tasks", "extract_code", "load_tasks"]
