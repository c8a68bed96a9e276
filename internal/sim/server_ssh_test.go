package sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestContainerSSH(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c.mustCall(nil, "filesystem.file_receive", rootfsPrefix+"px-a/rootfs/root/.ssh/authorized_keys",
		base64.StdEncoding.EncodeToString(ssh.MarshalAuthorizedKey(sshPub)),
		map[string]any{"mode": 0o600})

	var inst struct {
		Aliases []struct {
			Address string `json:"address"`
		} `json:"aliases"`
	}
	c.mustCall(&inst, "virt.instance.get_instance", "px-a")
	rec, err := ReadRecord(s.opts.Dir)
	if err != nil || len(inst.Aliases) != 1 || rec.SSHPorts["px-a"] == 0 {
		t.Fatalf("aliases %+v record %+v err %v", inst.Aliases, rec, err)
	}
	if ip := net.ParseIP(inst.Aliases[0].Address); ip == nil || !ip.IsLoopback() {
		t.Fatalf("alias %q is not a loopback address", inst.Aliases[0].Address)
	}

	hostKey, err := LoadHostKey(filepath.Join(s.opts.Dir, "containers", "px-a", hostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(inst.Aliases[0].Address, strconv.Itoa(rec.SSHPorts["px-a"]))
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()),
		Timeout:         testTimeout,
	})
	if err != nil {
		t.Fatalf("ssh to %s: %v", addr, err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("hostname")
	sess.Close()
	if err != nil || strings.TrimSpace(string(out)) != "px-a" {
		t.Fatalf("hostname = %q, %v", out, err)
	}

	if s.idleFor() != 0 {
		t.Fatalf("an open connection does not count as activity")
	}

	c.mustJob("virt.instance.stop", "px-a", map[string]any{"force": true})
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatalf("ssh listener of a stopped container still accepts")
	}
}
