import { LiveView } from "../components/live/live-view";

export default function LivePage() {
  return <LiveView />;
}
