package pow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow/powpb"
)

// ProtocolVersion is the version of the plugin protocol; a host refuses a
// plugin built for another one.
const ProtocolVersion = 1

// Handshake is shared by hosts and plugins. The cookie is not a secret: it
// only stops a user from running a plugin binary by hand by mistake.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "BC_POW_PLUGIN",
	MagicCookieValue: "4f0a1c3e-bc-pow-strategy",
}

// pluginName is the single plugin a strategy binary dispenses.
const pluginName = "strategy"

// GRPCPlugin connects go-plugin to the Strategy service. Impl is set on the
// plugin side only.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Strategy
}

// GRPCServer registers the strategy's service (plugin side).
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	powpb.RegisterStrategyServer(s, &server{impl: p.Impl, info: p.Impl.Describe()})
	return nil
}

// GRPCClient returns the service's client (host side).
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return powpb.NewStrategyClient(c), nil
}

// PluginMap is the go-plugin plugin set of a strategy binary.
func PluginMap(impl Strategy) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{pluginName: &GRPCPlugin{Impl: impl}}
}

// server adapts a Strategy to the gRPC service.
type server struct {
	powpb.UnimplementedStrategyServer
	impl Strategy
	info Info
}

func (s *server) Describe(context.Context, *powpb.DescribeRequest) (*powpb.DescribeResponse, error) {
	return infoToProto(s.info), nil
}

func (s *server) params(pp *powpb.Params) (chain.Params, error) {
	p := paramsFromProto(pp)
	p.Strategy = s.info.Name
	if err := CheckParams(s.info, &p); err != nil {
		return p, status.Error(codes.InvalidArgument, err.Error())
	}
	return p, nil
}

func (s *server) Seal(req *powpb.SealRequest, stream powpb.Strategy_SealServer) error {
	p, err := s.params(req.Params)
	if err != nil {
		return err
	}
	if len(req.Header) != chain.HeaderSize {
		return status.Errorf(codes.InvalidArgument, "header is %d bytes, want %d", len(req.Header), chain.HeaderSize)
	}
	sr := SealRequest{Params: p, PrevProof: req.PreviousProof, Threads: int(req.Threads), Start: req.Start}
	copy(sr.Header[:], req.Header)

	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	var attempts atomic.Uint64
	type outcome struct {
		res SealResult
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		res, err := s.impl.Seal(ctx, sr, func(n uint64) { attempts.Add(n) })
		done <- outcome{res, err}
	}()
	var tick <-chan time.Time
	if req.ProgressMs > 0 {
		t := time.NewTicker(time.Duration(req.ProgressMs) * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			err := stream.Send(&powpb.SealReply{Attempts: attempts.Load(), ElapsedNs: uint64(time.Since(start))})
			if err != nil {
				cancel()
				<-done
				return err
			}
		case o := <-done:
			if o.err != nil {
				if errors.Is(o.err, context.Canceled) || errors.Is(o.err, context.DeadlineExceeded) {
					return status.FromContextError(o.err).Err()
				}
				return status.Error(codes.Internal, o.err.Error())
			}
			return stream.Send(&powpb.SealReply{Done: true, Proof: o.res.Proof, WorkHash: o.res.WorkHash[:],
				Attempts: o.res.Attempts, ElapsedNs: uint64(o.res.Elapsed)})
		}
	}
}

func (s *server) Verify(_ context.Context, req *powpb.BatchRequest) (*powpb.VerifyResponse, error) {
	p, err := s.params(req.Params)
	if err != nil {
		return nil, err
	}
	if len(req.Records)%chain.RecordSize != 0 {
		return nil, status.Error(codes.InvalidArgument, ErrRecords.Error())
	}
	bad, work, err := s.impl.Verify(p, req.Records)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &powpb.VerifyResponse{FirstInvalid: int64(bad)}
	if bad >= 0 {
		resp.WorkHash = work[:]
	}
	return resp, nil
}

func infoToProto(i Info) *powpb.DescribeResponse {
	r := &powpb.DescribeResponse{
		Name: i.Name, Description: i.Description, Version: i.Version,
		DefaultDifficulty: i.DefaultDifficulty, MinDifficulty: i.MinDifficulty, MaxDifficulty: i.MaxDifficulty,
		DifficultyUnit: i.DifficultyUnit,
	}
	for _, o := range i.Options {
		r.Options = append(r.Options, &powpb.OptionSpec{Name: o.Name, Default: o.Default, Min: o.Min, Max: o.Max, Description: o.Description})
	}
	return r
}

func infoFromProto(r *powpb.DescribeResponse) Info {
	i := Info{
		Name: r.Name, Description: r.Description, Version: r.Version,
		DefaultDifficulty: r.DefaultDifficulty, MinDifficulty: r.MinDifficulty, MaxDifficulty: r.MaxDifficulty,
		DifficultyUnit: r.DifficultyUnit,
	}
	for _, o := range r.Options {
		i.Options = append(i.Options, OptionSpec{Name: o.Name, Default: o.Default, Min: o.Min, Max: o.Max, Description: o.Description})
	}
	return i
}

func paramsToProto(p *chain.Params) *powpb.Params {
	r := &powpb.Params{Difficulty: p.Difficulty}
	if len(p.Options) > 0 {
		r.Options = make(map[string]uint64, len(p.Options))
		for _, o := range p.Options {
			r.Options[o.Name] = o.Value
		}
	}
	return r
}

func paramsFromProto(pp *powpb.Params) chain.Params {
	p := chain.Params{Version: chain.FormatVersion}
	if pp == nil {
		return p
	}
	p.Difficulty = pp.Difficulty
	for k, v := range pp.Options {
		p.Options = append(p.Options, chain.Option{Name: k, Value: v})
	}
	sort.Slice(p.Options, func(i, j int) bool { return p.Options[i].Name < p.Options[j].Name })
	return p
}

// rpcError turns a gRPC status into a plain error for users.
func rpcError(op string, err error) error {
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Canceled:
			return context.Canceled
		case codes.DeadlineExceeded:
			return context.DeadlineExceeded
		case codes.Unavailable:
			return fmt.Errorf("%s: plugin is gone (%s)", op, st.Message())
		}
		return fmt.Errorf("%s: %s", op, st.Message())
	}
	return fmt.Errorf("%s: %w", op, err)
}
