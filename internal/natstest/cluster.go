package natstest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterSize is how many nodes [StartCluster] runs: the smallest cluster
// that keeps a quorum with one node down.
const ClusterSize = 3

// clusterWait bounds every wait on the cluster: a start, an election, a
// node catching up. Elections take a few seconds with nats-server's
// default timers (4–9 s), which a test cannot shorten from outside.
const clusterWait = 45 * time.Second

// Cluster is a JetStream cluster of [ClusterSize] nodes in-process on
// loopback, each with its own folder, started from a configuration file as
// a deployment would be.
type Cluster struct {
	t     testing.TB
	Nodes []*Node
}

// Node is one server of a [Cluster]. Its ports and folder stay the same
// across a stop and a restart, as a real node's do.
type Node struct {
	Name       string
	ClientPort int
	conf       string         // its configuration file
	srv        *server.Server // nil while stopped
}

// Server is the node's running server, or nil while it is stopped.
func (n *Node) Server() *server.Server { return n.srv }

// StartCluster starts a cluster and waits until it has elected its
// meta leader and every node runs JetStream; the test stops it when it ends.
// extra is server configuration added to every node's, such as an accounts
// block; variables in it ($NAME, unquoted) are read from the environment,
// as nats-server reads them. Without accounts, clients connect to the
// global account without credentials.
func StartCluster(t testing.TB, extra string) *Cluster {
	t.Helper()
	ports := freePorts(t, 2*ClusterSize)
	var routes []string
	for i := range ClusterSize {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[ClusterSize+i]))
	}
	c := &Cluster{t: t}
	for i := range ClusterSize {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), ClientPort: ports[i]}
		dir := t.TempDir()
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster {
  name: ledger-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
%s
`, n.Name, n.ClientPort, filepath.Join(dir, "jetstream"), ports[ClusterSize+i], strings.Join(routes, ", "), extra)
		n.conf = filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			c.stop(n)
		}
	})
	for _, n := range c.Nodes {
		c.start(n)
	}
	c.WaitReady()
	return c
}

// freePorts finds n distinct free ports on loopback. They are closed again
// before the servers take them; another process could take one meanwhile,
// which a test on a shared machine risks as nats-server's own tests do.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func (c *Cluster) start(n *Node) {
	c.t.Helper()
	opts, err := server.ProcessConfigFile(n.conf)
	if err != nil {
		c.t.Fatalf("node %s: %v", n.Name, err)
	}
	opts.NoSigs = true
	srv, err := server.NewServer(opts)
	if err != nil {
		c.t.Fatalf("node %s: %v", n.Name, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(clusterWait) {
		srv.Shutdown()
		c.t.Fatalf("node %s: not ready for connections after %s", n.Name, clusterWait)
	}
	n.srv = srv
}

func (c *Cluster) stop(n *Node) {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// WaitReady waits until the running nodes have a meta leader, each of them
// runs JetStream and is current with the meta group, and the leader counts
// every node as a peer.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	c.waitFor("the cluster to elect a meta leader with every running node current", func() bool {
		leader := c.MetaLeader()
		if leader == nil || len(leader.srv.JetStreamClusterPeers()) != ClusterSize {
			return false
		}
		for _, n := range c.Nodes {
			if n.srv != nil && (!n.srv.JetStreamEnabled() || !n.srv.JetStreamIsCurrent()) {
				return false
			}
		}
		return true
	})
}

// MetaLeader is the node that leads the JetStream meta group, or nil
// during an election.
func (c *Cluster) MetaLeader() *Node {
	for _, n := range c.Nodes {
		if n.srv != nil && n.srv.JetStreamIsLeader() {
			return n
		}
	}
	return nil
}

// StreamLeader is the node that leads the stream of the account, or nil
// during an election.
func (c *Cluster) StreamLeader(account, stream string) *Node {
	for _, n := range c.Nodes {
		if n.srv != nil && n.srv.JetStreamIsStreamLeader(account, stream) {
			return n
		}
	}
	return nil
}

// WaitStreamLeader waits until the stream has a leader, and returns it.
func (c *Cluster) WaitStreamLeader(account, stream string) *Node {
	c.t.Helper()
	var leader *Node
	c.waitFor("stream "+stream+" to have a leader", func() bool {
		leader = c.StreamLeader(account, stream)
		return leader != nil
	})
	return leader
}

// WaitStreamCurrent waits until the node's replica of the stream is
// current with its leader.
func (c *Cluster) WaitStreamCurrent(n *Node, account, stream string) {
	c.t.Helper()
	c.waitFor("node "+n.Name+" to catch up with stream "+stream, func() bool {
		return n.srv != nil && n.srv.JetStreamIsStreamCurrent(account, stream)
	})
}

// StreamState is the state of the node's own replica of the stream.
func (c *Cluster) StreamState(n *Node, account, stream string) server.StreamState {
	c.t.Helper()
	if n.srv == nil {
		c.t.Fatalf("node %s is stopped", n.Name)
	}
	info, err := n.srv.Jsz(&server.JSzOptions{Account: account, Streams: true})
	if err != nil {
		c.t.Fatalf("node %s: %v", n.Name, err)
	}
	for _, acc := range info.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == stream {
				return st.State
			}
		}
	}
	c.t.Fatalf("node %s holds no replica of stream %s", n.Name, stream)
	return server.StreamState{}
}

// Stop shuts the node down, as a clean stop of its process does (it hands
// its leaderships to other nodes first).
func (c *Cluster) Stop(n *Node) { c.stop(n) }

// Restart starts a stopped node again on its folder and ports, and waits
// until the cluster counts it again.
func (c *Cluster) Restart(n *Node) {
	c.t.Helper()
	if n.srv != nil {
		c.t.Fatalf("node %s is running", n.Name)
	}
	c.start(n)
	c.WaitReady()
}

// URLs is the client URL of every node, comma-separated as nats.Connect
// takes them, each with userinfo ("user:password") when it is not empty.
func (c *Cluster) URLs(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, fmt.Sprintf("nats://%s127.0.0.1:%d", userinfo, n.ClientPort))
	}
	return strings.Join(urls, ",")
}

func (c *Cluster) waitFor(what string, ok func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(clusterWait); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited %s for %s", clusterWait, what)
		}
	}
}
