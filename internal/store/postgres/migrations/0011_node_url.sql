-- The base URL other nodes reach each node at (its node_url setting), so that a node can
-- relay a channel live on another: the channel's open session names its node, the node's
-- lease its URL.
ALTER TABLE node_leases ADD COLUMN url TEXT NOT NULL DEFAULT '';
