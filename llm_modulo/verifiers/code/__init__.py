"""Sandboxed code execution: run candidate Python against tests in a limited child process."""

from llm_modulo.verifiers.code.critic import CodeExecutionCritic, violations_of_run
from llm_modulo.verifiers.code.sandbox import (
    Call,
    CallRecord,
    RunReport,
    Sandbox,
    SandboxError,
    SandboxLimits,
    network_namespace_works,
)
from llm_modulo.verifiers.code.style import StyleCritic, style_findings
from llm_modulo.verifiers.code.suite import CodeCase, CodeSuite, matches

__all__ = [
    "Call",
    "CallRecord",
    "CodeCase",
    "CodeExecutionCritic",
    "CodeSuite",
    "RunReport",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "StyleCritic",
    "violations_of_run",
    "matches",
    "network_namespace_works",
    "style_findings",
]
