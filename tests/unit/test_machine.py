"""The machine a run ran on, read from /proc-like files."""

from __future__ import annotations

import os
from pathlib import Path

from harness.machine import Machine, this_machine

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7R13 Processor
cpu MHz\t\t: 2649.998

processor\t: 1
model name\t: AMD EPYC 7R13 Processor
"""
MEMINFO = "MemTotal:       24683784 kB\nMemFree:         1000000 kB\n"


def test_the_machine_is_its_cores_its_first_cpus_model_and_its_memory_in_mib(tmp_path: Path) -> None:
    # Given a cpuinfo and a meminfo as Linux writes them
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    (tmp_path / "meminfo").write_text(MEMINFO)
    # When the machine is read from them
    machine = this_machine(tmp_path / "cpuinfo", tmp_path / "meminfo")
    # Then it has the model's name, the memory in MiB and the OS's cores
    assert machine == Machine(cores=os.cpu_count(), cpu_model="AMD EPYC 7R13 Processor", memory_mib=24105)
    assert machine.as_json() == {"cores": os.cpu_count(), "cpu_model": "AMD EPYC 7R13 Processor", "memory_mib": 24105}


def test_a_field_it_cannot_read_is_none(tmp_path: Path) -> None:
    # Given no cpuinfo, and a meminfo without MemTotal
    (tmp_path / "meminfo").write_text("MemFree: 1 kB\n")
    # When the machine is read
    machine = this_machine(tmp_path / "missing", tmp_path / "meminfo")
    # Then what could not be read is None
    assert (machine.cpu_model, machine.memory_mib) == (None, None)
