package cli

import (
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/api"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

// PingSummary is what ping prints: the samples and their percentiles.
type PingSummary struct {
	Node    int     `json:"node"`
	Size    int     `json:"size"`
	Count   int     `json:"count"`
	Poll    bool    `json:"poll"`
	MinUs   float64 `json:"min_us"`
	P50Us   float64 `json:"p50_us"`
	P99Us   float64 `json:"p99_us"`
	MaxUs   float64 `json:"max_us"`
	Samples []int64 `json:"samples_ns"`
}

func summarize(node, size int, poll bool, samples []time.Duration) PingSummary {
	s := PingSummary{Node: node, Size: size, Count: len(samples), Poll: poll}
	if len(samples) == 0 {
		return s
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	s.MinUs, s.MaxUs = us(sorted[0]), us(sorted[len(sorted)-1])
	s.P50Us = us(percentile(sorted, 50))
	s.P99Us = us(percentile(sorted, 99))
	for _, d := range samples {
		s.Samples = append(s.Samples, d.Nanoseconds())
	}
	return s
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

func newPingCmd(o *options) *cobra.Command {
	var count, size int
	var timeout time.Duration
	var poll bool
	cmd := &cobra.Command{
		Use:   "ping NODE",
		Short: "Kernel-to-kernel round trips; each echo is checked byte for byte",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseNodeID(args[0])
			if err != nil {
				return err
			}
			if count < 1 || count > api.PingMaxCount {
				return fmt.Errorf("count %d: want 1..%d", count, api.PingMaxCount)
			}
			if size < 0 || size > api.MsgMaxLen {
				return fmt.Errorf("size %d: want 0..%d", size, api.MsgMaxLen)
			}
			return o.withClient(func(cl *pcnl.Client) error {
				samples, err := cl.Ping(cmd.Context(), id, pcnl.PingOptions{Count: count, Size: size, Timeout: timeout, Poll: poll})
				if err != nil {
					return err
				}
				s := summarize(id, size, poll, samples)
				return o.print(cmd.OutOrStdout(), s, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "NODE\tSIZE\tCOUNT\tMIN_US\tP50_US\tP99_US\tMAX_US")
					fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n",
						s.Node, s.Size, s.Count, s.MinUs, s.P50Us, s.P99Us, s.MaxUs)
				})
			})
		},
	}
	cmd.Flags().IntVarP(&count, "count", "c", 1, "round trips")
	cmd.Flags().IntVarP(&size, "size", "s", 64, "payload bytes")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Second, "give up on one round trip after this long")
	cmd.Flags().BoolVar(&poll, "poll", false, "busy-poll for replies instead of sleeping")
	return cmd
}
