// The parts of Apache ECharts the timeline page draws with: line series, grid, legend, mark lines
// and the SVG renderer. Its own module, imported dynamically by timeline-page.ts, so that the
// bundler keeps only these parts and no other command loads them.
import { init, setPlatformAPI, use } from 'echarts/core';
import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([LineChart, GridComponent, LegendComponent, MarkLineComponent, SVGRenderer]);

export { init, setPlatformAPI };
