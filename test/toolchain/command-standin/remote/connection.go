package remote

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	retrypkg "github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
)

// Endpoint holds the fields the real schema gives both a connection and its proxy.
type Endpoint struct {
	User               *string  `pulumi:"user,optional"`
	Password           *string  `pulumi:"password,optional" provider:"secret"`
	Host               *string  `pulumi:"host"`
	Port               *float64 `pulumi:"port,optional"`
	PrivateKey         *string  `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string  `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string  `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int     `pulumi:"perDialTimeout,optional"`
	HostKey            *string  `pulumi:"hostKey,optional"`
}

// Connection is the real schema's SSH connection: an endpoint, reached through an optional jump host.
type Connection struct {
	Endpoint
	Proxy *ProxyConnection `pulumi:"proxy,optional"`
}

// ProxyConnection is the jump host.
type ProxyConnection struct {
	Endpoint
}

type endpoint struct {
	user, host                                 string
	port                                       int
	password, privateKey, keyPassword, hostKey *string
	dialErrorLimit, perDialTimeout             int
}

func str(s *string, fallback string) string {
	if s == nil {
		return fallback
	}
	return *s
}

func num(n *int, fallback int) int {
	if n == nil {
		return fallback
	}
	return *n
}

// resolved applies the provider's defaults: root, port 22, 10 dials of 15 s.
func (c *Endpoint) resolved() endpoint {
	port := 22
	if c.Port != nil {
		port = int(*c.Port)
	}
	return endpoint{str(c.User, "root"), str(c.Host, ""), port, c.Password, c.PrivateKey, c.PrivateKeyPassword, c.HostKey, num(c.DialErrorLimit, 10), num(c.PerDialTimeout, 15)}
}

func (e endpoint) config() (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{User: e.user, Timeout: time.Duration(e.perDialTimeout) * time.Second, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if e.hostKey != nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*e.hostKey))
		if err != nil {
			return nil, fmt.Errorf("hostKey: %w", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(key)
	}
	if e.privateKey != nil {
		var signer ssh.Signer
		var err error
		if e.keyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*e.privateKey), []byte(*e.keyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*e.privateKey))
		}
		if err != nil {
			return nil, fmt.Errorf("privateKey: %w", err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if e.password != nil {
		config.Auth = append(config.Auth, ssh.Password(*e.password))
	}
	return config, nil
}

func (e endpoint) address() string {
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

// retry dials until it works or dialErrorLimit attempts failed (-1: no limit), with the
// Pulumi SDK's retry helper (its default delays and backoff).
func retry(ctx context.Context, e endpoint, dial func() (*ssh.Client, error)) (*ssh.Client, error) {
	var lastErr error
	ok, client, err := retrypkg.Until(ctx, retrypkg.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			c, err := dial()
			if err == nil {
				return true, c, nil
			}
			lastErr = err
			if e.dialErrorLimit >= 0 && try+1 >= e.dialErrorLimit {
				return true, nil, fmt.Errorf("dial %s: after %d failed attempts: %w", e.address(), try+1, err)
			}
			p.GetLogger(ctx).InfoStatusf("dial %s %d/%d failed: retrying", e.address(), try+1, e.dialErrorLimit)
			return false, nil, nil
		},
	})
	if ok && err == nil {
		return client.(*ssh.Client), nil
	}
	if err == nil {
		err = fmt.Errorf("dial %s: %w (last error: %v)", e.address(), ctx.Err(), lastErr)
	}
	return nil, err
}

func (c *Connection) dial(ctx context.Context) (*ssh.Client, error) {
	target := c.resolved()
	config, err := target.config()
	if err != nil {
		return nil, err
	}
	if c.Proxy == nil {
		return retry(ctx, target, func() (*ssh.Client, error) { return ssh.Dial("tcp", target.address(), config) })
	}
	jump := c.Proxy.resolved()
	jumpConfig, err := jump.config()
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxy, err := retry(ctx, jump, func() (*ssh.Client, error) { return ssh.Dial("tcp", jump.address(), jumpConfig) })
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return retry(ctx, target, func() (*ssh.Client, error) {
		conn, err := proxy.Dial("tcp", target.address())
		if err != nil {
			return nil, err
		}
		c, chans, reqs, err := ssh.NewClientConn(conn, target.address(), config)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return ssh.NewClient(c, chans, reqs), nil
	})
}
