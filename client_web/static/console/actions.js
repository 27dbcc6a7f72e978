// What each console action asks before it is sent, and the command it becomes.

export const ACTIONS = {
  open_checkin: {
    label: "开放签到",
    title: "开放签到 Open check-in",
    text: "考生可以登录并阅读考试须知，试题在开考后才下发。",
    reason: "none",
  },
  start: {
    label: "开考",
    title: "开考 Start the session",
    text: "开考后全部已签到考生的试卷同时下发，计时开始。",
    reason: "none",
    irreversible: true,
  },
  pause_all: {
    label: "全场暂停",
    title: "全场暂停 Pause the whole room",
    text: "全部考生的计时暂停，答题界面被遮挡。",
    reason: "required",
  },
  resume_all: {
    label: "全场恢复",
    title: "全场恢复 Resume the whole room",
    text: "全部考生继续答题、继续计时。",
    reason: "optional",
  },
  note: {
    label: "考场记录",
    title: "考场记录 Add a note to the room record",
    text: "记录内容将写入考场记录表。",
    reason: "required",
    maxLength: 2000,
  },
  end_session: {
    label: "结束考试",
    title: "结束考试 End the session",
    text: "考试时间已到或到场考生均已交卷时可结束考试：未登录的考生记为缺考，时间已到仍在答题的考生自动交卷，本场考试关闭。",
    reason: "optional",
    irreversible: true,
  },
  pause: {
    label: "暂停",
    title: "暂停考生 Pause candidate",
    text: "该考生的计时暂停，答题界面被遮挡。",
    reason: "required",
  },
  resume: {
    label: "恢复",
    title: "恢复考生 Resume candidate",
    text: "该考生继续答题、继续计时。",
    reason: "optional",
  },
  extra_time: {
    label: "延时",
    title: "延长考试时间 Extra time",
    text: "为该考生增加考试时间。",
    reason: "required",
    minutes: true,
  },
  unlock: {
    label: "解锁",
    title: "解锁换机 Unlock to change seat",
    text: "该考生当前的连接将被断开，可在指定的机位（如备用机）上重新登录，已保存的答案全部保留。",
    reason: "required",
  },
  force_submit: {
    label: "收卷",
    title: "强制交卷 Force submit",
    text: "立即收取该考生的试卷并评分。",
    reason: "required",
    irreversible: true,
  },
  admit_late: {
    label: "准许入场",
    title: "准许迟到入场 Admit late",
    text: "该考生已超过开考后允许入场的时间；准许后可以登录答题，计时仍从开考时算起。原因将写入考场记录表。",
    reason: "required",
  },
  verify_identity: {
    label: "核验",
    title: "身份核验 Identity check",
    text: "核对考生本人、身份证与照片一致后确认，记入考场记录表（已核验）。",
    reason: "none",
  },
  mark_absent: {
    label: "缺考",
    title: "标记缺考 Mark absent",
    text: "该考生将被记为缺考，不能再登录本场考试。",
    reason: "optional",
    irreversible: true,
  },
};

/** The protocol command for an action (without `seq`). */
export function commandFor(action, candidateId, { reason, minutes, pc = null }) {
  switch (action) {
    case "open_checkin":
    case "start":
      return { type: action };
    case "end_session":
      return { type: action, reason };
    case "pause_all":
      return { type: "pause", candidate_id: null, reason };
    case "resume_all":
      return { type: "resume", candidate_id: null, reason };
    case "note":
      return { type: "note", text: reason };
    case "extra_time":
      return { type: "extra_time", candidate_id: candidateId, seconds: minutes * 60, reason };
    case "unlock":
      return pc
        ? { type: action, candidate_id: candidateId, reason, pc }
        : { type: action, candidate_id: candidateId, reason };
    case "pause":
    case "resume":
    case "force_submit":
    case "mark_absent":
    case "admit_late":
      return { type: action, candidate_id: candidateId, reason };
    case "verify_identity":
      return { type: action, candidate_id: candidateId };
    default:
      throw new Error(`unknown action ${action}`);
  }
}

/** The lines the end-of-session dialog lists: who will be marked absent, who is
 * submitted because their time is over, and who still answers (the server refuses then). */
export function endingList(seats) {
  const sorted = [...seats].sort((a, b) => a.seat - b.seat);
  const who = (s) => `${s.seat} 号 ${s.name}（${s.ticket}）`;
  const never = sorted.filter((s) => ["registered", "checked_in"].includes(s.state));
  const inExam = sorted.filter((s) => ["answering", "paused"].includes(s.state));
  const lines = [];
  lines.push(
    never.length
      ? `将记为缺考（未登录）${never.length} 人：${never.map(who).join("、")}`
      : "没有未登录的考生。",
  );
  const over = inExam.filter((s) => s.remaining_ms !== null && s.remaining_ms <= 0);
  const left = inExam.filter((s) => !over.includes(s));
  if (over.length) lines.push(`时间已到、将自动交卷 ${over.length} 人：${over.map(who).join("、")}`);
  if (left.length) lines.push(`仍在答题 ${left.length} 人：${left.map(who).join("、")}（须待其交卷或时间结束）`);
  return lines;
}
