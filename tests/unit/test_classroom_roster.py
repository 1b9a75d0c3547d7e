"""The class roster: good rows become students, every bad row is reported with its line."""

import pytest

from workshop.classroom.layout import Classroom
from workshop.classroom.roster import RosterError, parse_roster, parse_roster_text
from workshop.errors import WorkshopError
from workshop.keys import generate_key_pair


@pytest.fixture
def public_key(tmp_path):
    return generate_key_pair(tmp_path / "id_ed25519", comment="alice@laptop")


def test_a_roster_with_optional_columns_gives_students_in_file_order(public_key):
    students = parse_roster_text(f"id,name,public_key,address\n# a comment\nalice,Alice Martin,{public_key},"
                                 "192.0.2.10\n\nbob_2,\"Chen, Bob\",,\n")
    assert [(s.id, s.name, s.address) for s in students] == [("alice", "Alice Martin", "192.0.2.10"),
                                                             ("bob_2", "Chen, Bob", "")]
    assert students[0].public_key == public_key and students[1].slug == "bob-2"


def test_header_aliases_and_a_missing_optional_column_are_accepted():
    students = parse_roster_text("Student_ID,Full_Name,IP\nalice,Alice,2001:db8::1\n")
    assert (students[0].id, students[0].address, students[0].public_key) == ("alice", "2001:db8::1", "")


def test_every_bad_row_is_reported_with_its_line_number():
    text = ("id,name,public_key,address\n"
            "Alice,Alice\n"                          # 2: uppercase id
            "bob,,ssh-ed25519 AAAA!!,10.0.0.300\n"   # 3: no name, bad key body, bad address
            "carol,Carol,ssh-dss AAAAB3,\n"          # 4: not an accepted key type
            "carol,Carol again\n"                    # 5: duplicate id
            "dan_x,Dan\n"                            # 6: fine
            "dan-x,Other Dan\n"                      # 7: same stack name as dan_x
            "eve,Eve,,,extra\n")                     # 8: too many values
    with pytest.raises(RosterError) as error:
        parse_roster_text(text, "fall.csv")
    message = str(error.value)
    assert message.startswith("fall.csv has 8 problem(s):")
    for expected in ("line 2: student id 'Alice' is not usable", "line 3: student bob has no name",
                     "line 3: public key of type ssh-ed25519 has a damaged base64 body",
                     "line 3: address '10.0.0.300' is not an IP address", "line 4: public key 'ssh-dss AAAAB3'",
                     "line 5: student id 'carol' already used on line 4",
                     "line 7: student id 'dan-x' makes the same stack name as 'dan_x'",
                     "line 8: 5 values for 4 columns"):
        assert expected in message


def test_a_key_whose_body_is_another_type_is_refused(public_key):
    body = public_key.split()[1]
    with pytest.raises(RosterError, match="says ssh-rsa but its body is another key type"):
        parse_roster_text(f"id,name,public_key\nalice,Alice,ssh-rsa {body}\n")


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("id,name\n", "lists no students"),
    ("id,nom\nalice,Alice\n", "the header has no name column and unknown or repeated column(s) nom"),
    ("name,id,id\nAlice,alice,x\n", "unknown or repeated column(s) id"),
])
def test_unusable_headers_and_empty_rosters_say_what_to_write(text, expected):
    with pytest.raises(RosterError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_roster_text(text)


def test_a_missing_roster_file_is_a_clear_error(tmp_path):
    with pytest.raises(RosterError, match="Cannot read the roster .*nothere.csv: No such file"):
        parse_roster(tmp_path / "nothere.csv")


def test_a_class_is_named_after_its_roster_and_keeps_the_name_it_was_first_saved_with(tmp_path):
    roster = tmp_path / "Fall 2026.csv"
    roster.write_text("id,name\nalice,Alice\n")
    classroom = Classroom.open(roster)
    assert classroom.name == "fall-2026" and classroom.folder == tmp_path / "Fall 2026-class"
    assert classroom.stack_name(classroom.students[0]) == "fall-2026-alice"
    assert classroom.env(classroom.students[0])["WORKSHOP_HOME"] == str(tmp_path / "Fall 2026-class/students/alice")
    Classroom.open(roster, name="f26").save()
    assert Classroom.open(roster).name == "f26"
    with pytest.raises(WorkshopError, match="belongs to class 'f26', not 'other'"):
        Classroom.open(roster, name="other")


def test_a_class_name_that_makes_stack_names_too_long_is_refused(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nabcdefghijklmnopqrst,Long Id\n")
    with pytest.raises(WorkshopError, match="choose a shorter class name with --name"):
        Classroom.open(roster, name="a-rather-long-class-name")
