"""pgpool's view of its servers, both ways of asking (workshop/pgpool_view.py), parsed by server name."""

from tests.unit.grader.test_foundations import PCP_NODE
from workshop.pgpool_view import parse_pcp_nodes, parse_pool_nodes

NAMES = {"10.213.9.41": "db1", "10.213.9.42": "db2"}


def test_pool_nodes_are_keyed_by_server_name():
    text = ("node_id,hostname,port,status,pg_status,lb_weight,role,select_cnt,replication_delay\n"
            "0,10.213.9.41,5432,down,up,0.5,standby,66,0\n1,10.213.9.42,5432,up,up,0.5,primary,180,0\n")
    nodes = parse_pool_nodes(text, NAMES)
    assert (nodes["db1"]["status"], nodes["db2"]["role"], nodes["db2"]["select_cnt"]) == ("down", "primary", "180")


def test_pcp_nodes_are_numbered_in_order_and_keyed_by_server_name():
    text = (PCP_NODE.format(host="10.213.9.41", code=3, status="down", role="standby", state="", sync="") + "\n"
            + PCP_NODE.format(host="10.213.9.42", code=2, status="up", role="primary", state="", sync=""))
    nodes = parse_pcp_nodes(text, NAMES)
    assert (nodes["db1"]["node_id"], nodes["db1"]["status"], nodes["db1"]["role"]) == ("0", "down", "standby")
    assert (nodes["db2"]["node_id"], nodes["db2"]["status"], nodes["db2"]["replication_state"]) == ("1", "up", "")
