package lake

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// The AWS SDK for Go v2 sends X-Amz-Target CloudTrail_20131101.<Op>, without botocore's
// com.amazonaws.cloudtrail.v20131101. prefix: GetChannel and ListChannels answer it too.
func TestChannelOperationsSDK(t *testing.T) {
	s := newTestService(t, nil)
	srv := httptest.NewServer(cliRouter(s))
	defer srv.Close()
	c := sdkClient(srv.URL, "AKIDTEST")
	ctx := context.Background()
	got, err := c.GetChannel(ctx, &cloudtrail.GetChannelInput{Channel: aws.String(testChanARN)})
	if err != nil {
		t.Fatalf("GetChannel: %v", err)
	}
	if aws.ToString(got.Name) != "shipper-channel" || len(got.Destinations) != 1 ||
		aws.ToString(got.Destinations[0].Location) != "arn:aws:cloudtrail:us-east-1:"+testAccount+":eventdatastore/"+testEDSID {
		t.Errorf("GetChannel: name %q, destinations %+v", aws.ToString(got.Name), got.Destinations)
	}
	list, err := c.ListChannels(ctx, &cloudtrail.ListChannelsInput{})
	if err != nil {
		t.Fatalf("ListChannels: %v", err)
	}
	if len(list.Channels) != 1 || aws.ToString(list.Channels[0].ChannelArn) != testChanARN {
		t.Errorf("ListChannels: %+v", list.Channels)
	}
}
