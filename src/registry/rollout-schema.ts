import type { ColumnType, Generated } from 'kysely';

type Int8 = ColumnType<number | string, number, number>;
type Int8Null = ColumnType<number | string | null, number | null, number | null>;

/** Row shapes of migration 0006_rollouts (times epoch ms, JSON as text). */
export type RolloutTables = {
  firmware_packages: {
    package: string;
    blob: string;
    size: Int8;
    sha256: string;
    signatures: string;
    models: string;
    created_by: string;
    created_at: Int8;
  };
  rollouts: {
    id: string;
    name: string | null;
    kind: string;
    change: string;
    selector: string;
    plan: string;
    wave_sizes: string;
    state: string;
    wave: number;
    wave_started_at: Int8Null;
    wave_passed_at: Int8Null;
    halt_reason: string | null;
    rollback_of: string | null;
    created_by: string;
    created_at: Int8;
    updated_at: Int8;
    version: number;
    /** 0020_rollout_approval. */
    created_by_identity: string | null;
    approval: string | null;
    approved_by: string | null;
    approved_at: Int8Null;
  };
  rollout_members: {
    rollout_id: string;
    eui: string;
    wave: number;
    state: string;
    reason: string | null;
    previous: string | null;
    offered_at: Int8Null;
    deadline_at: Int8Null;
    done_at: Int8Null;
    /** 0018_revert: the member's automatic revert, JSON (core/rollout.ts MemberRevert); null when none. */
    revert: ColumnType<string | null, string | null | undefined, string | null>;
    /** 0017_health_soak. */
    soak_from: Int8Null;
    report_due: ColumnType<number, number | undefined, number>;
  };
  rollout_claims: { eui: string; rollout_id: string };
  rollout_events: {
    id: Generated<number | string>;
    rollout_id: string;
    at: Int8;
    type: string;
    wave: number | null;
    eui: string | null;
    message: string;
  };
};
