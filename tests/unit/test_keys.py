"""Per-stack SSH keys: private and readable by paramiko, public in OpenSSH format."""

import paramiko

from workshop.keys import generate_key_pair, public_key_line


def test_a_generated_key_pair_loads_in_paramiko_and_matches_its_public_line(tmp_path):
    line = generate_key_pair(tmp_path / "id_ed25519", comment="workshop-test")
    key = paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "id_ed25519"))
    assert line == f"ssh-ed25519 {key.get_base64()} workshop-test"
    assert public_key_line(tmp_path / "id_ed25519") == line
    assert (tmp_path / "id_ed25519").stat().st_mode & 0o777 == 0o600
