package miner

import (
	"context"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/pow"
)

// reloading is a Sealer that restarts its plugin when the process died.
type reloading struct {
	env  *cli.Env
	name string
	mu   sync.Mutex
	p    *pow.Plugin
}

func (r *reloading) SealProgress(ctx context.Context, req pow.SealRequest, every time.Duration, progress func(uint64, time.Duration)) (pow.SealResult, error) {
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	if p == nil || p.Exited() {
		var err error
		if p, err = r.restart(ctx); err != nil {
			return pow.SealResult{}, err
		}
	}
	res, err := p.SealProgress(ctx, req, every, progress)
	if err != nil && ctx.Err() == nil {
		// Whether it died or broke its protocol, do not trust it again.
		r.env.Log.Error("the strategy plugin failed during a search; restarting it", "plugin", p.Path(), "error", err)
		r.mu.Lock()
		if r.p == p {
			r.p.Close()
			r.p = nil
		}
		r.mu.Unlock()
	}
	return res, err
}

// Restart drops the current plugin; the next search starts a new one.
func (r *reloading) Restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.env.Log.Error("stopping a strategy plugin that made no progress", "plugin", r.p.Path(), "pid", r.p.PID())
		r.p.Close()
		r.p = nil
	}
}

func (r *reloading) restart(ctx context.Context) (*pow.Plugin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.Close()
		r.p = nil
	}
	p, err := r.env.LoadStrategy(ctx, r.name)
	if err != nil {
		return nil, err
	}
	r.p = p
	return p, nil
}

func (r *reloading) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.Close()
	}
}
