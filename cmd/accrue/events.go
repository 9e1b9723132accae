package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(eventCommands) }

// eventCommands is `accrue events list|watch`: EventService's feed.
func eventCommands(c *cli) []*cobra.Command {
	cmd := newGroup("events", "read the program's event feed, or follow it as it grows", "event")
	cmd.AddCommand(c.eventsList(), c.eventsWatch())
	return []*cobra.Command{cmd}
}

// feedFlags adds --after and --type, shared by list and watch.
func feedFlags(cmd *cobra.Command) (after *int64, types *[]string) {
	after = cmd.Flags().Int64("after", 0, "only events after this feed position (the seq of the last event read)")
	types = cmd.Flags().StringArray("type", nil, "only events of this type, e.g. order.paid (repeatable)")
	return after, types
}

func (c *cli) eventsList() *cobra.Command {
	cmd := &cobra.Command{Use: "list [--after SEQ] [--type T]", Short: "list published events in feed order", Args: cobra.NoArgs}
	after, types := feedFlags(cmd)
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req := &accruev1.ListEventsRequest{Program: c.program, AfterSeq: *after, Types: *types}
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Event, string, error) {
			req.PageToken, req.PageSize = token, size
			r, err := c.events.ListEvents(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetEvents(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListEventsResponse{Events: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "SEQ\tID\tTYPE\tAT\tRESOURCE")
			for _, e := range rows {
				fmt.Fprintln(w, eventLine(e))
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

// eventLine is an event on one tab-separated line: its position, id,
// type, time and the resource's id.
func eventLine(e *accruev1.Event) string {
	f := e.GetResource().GetFields()
	id := f["id"].GetStringValue()
	for _, k := range []string{"lead", "partner", "period", "version"} {
		if id == "" {
			id = f[k].GetStringValue()
		}
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t%s", e.GetSeq(), e.GetId(), e.GetType(), stamp(e.GetAt()), id)
}

func (c *cli) eventsWatch() *cobra.Command {
	cmd := &cobra.Command{Use: "watch [--after SEQ] [--type T]",
		Short: "follow the feed: one line per event as it is published (--json: JSON lines); resume with --after the last seq",
		Args:  cobra.NoArgs}
	after, types := feedFlags(cmd)
	count := cmd.Flags().Int("count", 0, "stop after this many events (default: until interrupted)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		stream, err := c.events.WatchEvents(cmd.Context(), connect.NewRequest(&accruev1.WatchEventsRequest{
			Program: c.program, AfterSeq: *after, Types: *types}))
		if err != nil {
			return connectMessage(err)
		}
		defer stream.Close()
		for n := 0; *count == 0 || n < *count; n++ {
			if !stream.Receive() {
				return connectMessage(stream.Err())
			}
			if err := c.watchLine(c.out, stream.Msg().GetEvent()); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

// watchLine prints one watched event: a JSON line with --json, else its
// line as events list shows it, space-separated.
func (c *cli) watchLine(w io.Writer, e *accruev1.Event) error {
	if c.json {
		b, err := protojson.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, eventLine(e))
	return tw.Flush()
}
