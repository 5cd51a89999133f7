package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
)

// tableWait bounds the wait for a table to become ACTIVE.
const tableWait = 5 * time.Minute

// prepareTable finds (or creates) a view's table and returns its key schema.
func prepareTable(ctx context.Context, api API, cfg *Config, view change.ViewSchema, table string) (keySchema, error) {
	want, err := keySchemaFor(view)
	if err != nil {
		return keySchema{}, err
	}
	var desc *dynamodb.DescribeTableOutput
	err = retry.Do(ctx, cfg.Retry, retryable, nil, func(ctx context.Context) error {
		desc, err = api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		return err
	})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		if !*cfg.CreateTables {
			return keySchema{}, fmt.Errorf("dynamodb sink: table %s of view %s does not exist: create it with key %s, or set create_tables",
				table, view.Name, describeKey(want))
		}
		if err := createTable(ctx, api, cfg, table, want); err != nil {
			return keySchema{}, err
		}
		return want, nil
	case err != nil:
		return keySchema{}, fmt.Errorf("describing table %s: %w", table, err)
	}
	if desc.Table.TableStatus == types.TableStatusCreating {
		if err := waitActive(ctx, api, cfg, table); err != nil {
			return keySchema{}, err
		}
	}
	got, err := tableKeySchema(desc.Table)
	if err != nil {
		return keySchema{}, fmt.Errorf("table %s: %w", table, err)
	}
	got.Composite = want.Composite
	if !slices.Equal(got.names(), want.names()) {
		return keySchema{}, fmt.Errorf("dynamodb sink: table %s has key %s, view %s needs key %s",
			table, describeKey(got), view.Name, describeKey(want))
	}
	if want.Composite && got.Partition.Type != types.ScalarAttributeTypeS {
		return keySchema{}, fmt.Errorf("dynamodb sink: table %s: the composite key %s must be a string (S)", table, CompositeKeyAttribute)
	}
	return got, nil
}

func describeKey(ks keySchema) string {
	s := fmt.Sprintf("%s (%s, partition)", ks.Partition.Name, ks.Partition.Type)
	if ks.HasSort {
		s += fmt.Sprintf(" + %s (%s, sort)", ks.Sort.Name, ks.Sort.Type)
	}
	return s
}

// tableKeySchema reads the key attributes of an existing table.
func tableKeySchema(t *types.TableDescription) (keySchema, error) {
	typeOf := func(name string) types.ScalarAttributeType {
		for _, d := range t.AttributeDefinitions {
			if aws.ToString(d.AttributeName) == name {
				return d.AttributeType
			}
		}
		return ""
	}
	var ks keySchema
	for _, k := range t.KeySchema {
		part := keyPart{Name: aws.ToString(k.AttributeName)}
		part.Type = typeOf(part.Name)
		switch k.KeyType {
		case types.KeyTypeHash:
			ks.Partition = part
		case types.KeyTypeRange:
			ks.Sort, ks.HasSort = part, true
		}
	}
	if ks.Partition.Name == "" || ks.Partition.Type == "" || (ks.HasSort && ks.Sort.Type == "") {
		return ks, errors.New("incomplete key schema in the table description")
	}
	return ks, nil
}

// createTable creates an on-demand table with the view's key and, for
// tombstones, TTL on ExpiresAttribute. A table another worker is creating
// at the same moment is waited for.
func createTable(ctx context.Context, api API, cfg *Config, table string, ks keySchema) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(ks.Partition.Name), AttributeType: ks.Partition.Type},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(ks.Partition.Name), KeyType: types.KeyTypeHash}},
	}
	if ks.HasSort {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(ks.Sort.Name), AttributeType: ks.Sort.Type})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(ks.Sort.Name), KeyType: types.KeyTypeRange})
	}
	err := retry.Do(ctx, cfg.Retry, retryable, nil, func(ctx context.Context) error {
		_, err := api.CreateTable(ctx, in)
		return err
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("creating table %s: %w", table, err)
	}
	if err := waitActive(ctx, api, cfg, table); err != nil {
		return err
	}
	if cfg.Deletes != DeletesTombstone {
		return nil
	}
	err = retry.Do(ctx, cfg.Retry, retryable, nil, func(ctx context.Context) error {
		_, err := api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(table),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ExpiresAttribute), Enabled: aws.Bool(true)},
		})
		return err
	})
	// Invariant: TTL only removes tombstones once they are older than
	// TombstoneTTL. Local emulators without TTL (dynalite) keep them.
	if err != nil && !unknownOperation(err) && !errors.As(err, &inUse) {
		return fmt.Errorf("enabling TTL on %s.%s: %w", table, ExpiresAttribute, err)
	}
	return nil
}

// waitActive polls a table until it is ACTIVE. Unlike the SDK's waiter it
// rides out throttling and server errors (retried under the policy) and a
// table not yet visible right after CreateTable.
func waitActive(ctx context.Context, api API, cfg *Config, table string) error {
	deadline := time.Now().Add(tableWait)
	delay := 50 * time.Millisecond
	for {
		var out *dynamodb.DescribeTableOutput
		err := retry.Do(ctx, cfg.Retry, retryable, nil, func(ctx context.Context) error {
			var err error
			out, err = api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			return err
		})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive:
			return nil
		case err != nil && !errors.As(err, &notFound):
			return fmt.Errorf("waiting for table %s to become active: %w", table, err)
		case time.Now().After(deadline):
			return fmt.Errorf("dynamodb sink: table %s did not become active within %s", table, tableWait)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// tableEmpty reports whether a table holds no item at all (tombstones
// count as items), with a consistent one-item Scan.
func tableEmpty(ctx context.Context, api API, cfg *Config, table string, ks keySchema) (bool, error) {
	var out *dynamodb.ScanOutput
	err := retry.Do(ctx, cfg.Retry, retryable, nil, func(ctx context.Context) error {
		var err error
		out, err = api.Scan(ctx, &dynamodb.ScanInput{
			TableName:                aws.String(table),
			Limit:                    aws.Int32(1),
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     aws.String("#pk"),
			ExpressionAttributeNames: map[string]string{"#pk": ks.Partition.Name},
		})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("checking whether table %s is empty: %w", table, err)
	}
	return len(out.Items) == 0 && len(out.LastEvaluatedKey) == 0, nil
}

// keyID identifies an item of a request by its key attributes.
func keyID(ks *keySchema, item map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, n := range ks.names() {
		switch v := item[n].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString("s:" + v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString("n:" + v.Value)
		case *types.AttributeValueMemberB:
			b.WriteString("b:" + string(v.Value))
		}
		b.WriteByte(0)
	}
	return b.String()
}
